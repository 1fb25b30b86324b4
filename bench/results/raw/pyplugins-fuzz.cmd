whittle run whittle-fixture/pyplugins:latest --auto --seed 1 --tag whittle-bench/pyplugins:fuzz --duration 60s -o json=bench/results/raw/pyplugins-fuzz.json
