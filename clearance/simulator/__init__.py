"""The customs simulator: answers declarations in the exchange folder like customs."""
