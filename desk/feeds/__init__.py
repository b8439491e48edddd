"""Market-data producers: the simulated market, venue adapters, replay. All emit ``desk.domain`` events."""
