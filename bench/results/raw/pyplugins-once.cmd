whittle run whittle-fixture/pyplugins:latest --auto --seed 1 --tag whittle-bench/pyplugins:once --once -o json=bench/results/raw/pyplugins-once.json
