"""Scale benchmark: synthetic logs of 1M-100M interactions through the whole training job."""
