whittle run whittle-fixture/jvmshop:latest --auto --seed 1 --tag whittle-bench/jvmshop:concur1 --workers 1 --duration 60s --measure-capacity /health -o json=bench/results/raw/jvmshop-concur-1.json
