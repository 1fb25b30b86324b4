whittle run whittle-fixture/nodeviews:latest --auto --seed 1 --tag whittle-bench/nodeviews:nocover --duration 60s --cover none -o json=bench/results/raw/nodeviews-nocover.json
