"""Clearance cases from matched parcel to closed: state machine, stages, jobs, sweep."""
