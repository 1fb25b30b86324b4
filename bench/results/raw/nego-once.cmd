whittle run whittle-fixture/nego:latest --auto --seed 1 --tag whittle-bench/nego:once --spec testdata/targets/nego/openapi.yaml --once -o json=bench/results/raw/nego-once.json
