whittle run whittle-fixture/pypets:latest --auto --seed 1 --tag whittle-bench/pypets:cover --duration 60s -o json=bench/results/raw/pypets-cover.json
