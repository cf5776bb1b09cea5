"""The warehouse floor: scans, stations, bags, exceptions and their pages."""
