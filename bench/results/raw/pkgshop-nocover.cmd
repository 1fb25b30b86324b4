whittle run whittle-fixture/pkgshop:latest --auto --seed 1 --tag whittle-bench/pkgshop:nocover --duration 60s --cover none -o json=bench/results/raw/pkgshop-nocover.json
