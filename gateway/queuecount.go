package gateway

// QueueCount is how many messages of one lane (priority) are in one
// unfinished status, for the metrics.
type QueueCount struct {
	Priority Priority
	Status   Status // StatusQueued or StatusSending
	N        int
}
