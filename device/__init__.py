"""Everything that runs on the Pi: cameras, detection and cropping, TFLite classifier, capture, sort loop, simulated world."""
