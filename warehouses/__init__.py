"""The warehouse floor: bonded warehouses and profiles, SKUs, orders, parcels, scans, the gate."""
