whittle run whittle-fixture/pypets:latest --auto --seed 1 --tag whittle-bench/pypets:once --once -o json=bench/results/raw/pypets-once.json
