"""The clearance pipeline: cases and their state machine, gateways, the simulator, rq jobs."""
