"""The Just One API: client, response policy and payload validation."""
