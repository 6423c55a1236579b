package gateway

// QueueCount is how many messages of one lane (priority) are queued or
// being sent, for the metrics.
type QueueCount struct {
	Priority Priority
	N        int
}
