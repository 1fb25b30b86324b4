whittle run whittle-fixture/slowdb:latest --auto --seed 1 --tag whittle-bench/slowdb:concur --duration 60s -o json=bench/results/raw/slowdb-concur-adaptive.json
