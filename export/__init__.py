"""Export side of ytrec-infer: trained torch networks -> ONNX, item vectors -> HNSW, both -> artifact."""
