whittle run whittle-fixture/pypets:latest --auto --seed 1 --tag whittle-bench/pypets:concur --duration 60s -o json=bench/results/raw/pypets-concur-adaptive.json
