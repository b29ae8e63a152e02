"""One normalizer per inbound format, each turning its payload into `IncomingAlert`s."""
