whittle run whittle-fixture/slowdb:latest --auto --seed 1 --tag whittle-bench/slowdb:concur1 --workers 1 --duration 60s --measure-capacity /health -o json=bench/results/raw/slowdb-concur-1.json
