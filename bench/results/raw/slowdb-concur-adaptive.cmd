whittle run whittle-fixture/slowdb:latest --auto --seed 1 --tag whittle-bench/slowdb:concur --workers 0 --duration 60s --measure-capacity /health -o json=bench/results/raw/slowdb-concur-adaptive.json
