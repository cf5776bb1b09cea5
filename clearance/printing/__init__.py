"""Labels and printers: label data, print jobs on the labels queue, printer setup."""
