"""Sample data: a generated Custom NER project (``samples.generate``)."""
