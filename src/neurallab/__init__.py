"""neurallab: the programs and experiments of five deep-learning handouts, done properly."""

__version__ = "0.1.0"
