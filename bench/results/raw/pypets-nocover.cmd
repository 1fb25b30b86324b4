whittle run whittle-fixture/pypets:latest --auto --seed 1 --tag whittle-bench/pypets:nocover --duration 60s --cover none -o json=bench/results/raw/pypets-nocover.json
