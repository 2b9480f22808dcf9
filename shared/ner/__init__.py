"""NER core: project files, splitting, corpus conversion, spaCy training and Azure-style evaluation."""
