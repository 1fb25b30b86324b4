whittle run whittle-fixture/pypets:latest --auto --seed 1 --tag whittle-bench/pypets:concur1 --workers 1 --duration 60s --measure-capacity /health -o json=bench/results/raw/pypets-concur-1.json
