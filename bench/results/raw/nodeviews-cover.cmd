whittle run whittle-fixture/nodeviews:latest --auto --seed 1 --tag whittle-bench/nodeviews:cover --duration 60s -o json=bench/results/raw/nodeviews-cover.json
