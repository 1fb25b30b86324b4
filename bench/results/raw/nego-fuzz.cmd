whittle run whittle-fixture/nego:latest --auto --seed 1 --tag whittle-bench/nego:fuzz --spec testdata/targets/nego/openapi.yaml --duration 60s -o json=bench/results/raw/nego-fuzz.json
