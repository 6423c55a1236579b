package api

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPI is the OpenAPI 3.1 document of /api/v1, written by hand: it
// lists every route of routes.go, with its scope as x-scope, and every
// body of package apiv1 as a schema with its x-go-type. TestOpenAPI fails
// when it and the routes or the types disagree.
//
//go:embed openapi.json
var openAPI []byte

// OpenAPI returns the OpenAPI 3.1 document of /api/v1.
func OpenAPI() []byte { return append([]byte(nil), openAPI...) }

// handleOpenAPI is GET /api/v1/openapi.json. It needs no key: the document
// holds nothing a client could not learn from the API's own answers.
func handleOpenAPI(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-cache")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPI)
}
