whittle run whittle-fixture/pkgshop:latest --auto --seed 1 --tag whittle-bench/pkgshop:cover --duration 60s -o json=bench/results/raw/pkgshop-cover.json
