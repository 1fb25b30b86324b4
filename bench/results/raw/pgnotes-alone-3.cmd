whittle run whittle-fixture/pgnotes:latest --auto --seed 1 --tag whittle-bench/pgnotes:alone --duration 10s -o json=bench/results/raw/pgnotes-alone-3.json
