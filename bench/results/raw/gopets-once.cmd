whittle run whittle-fixture/gopets:latest --auto --seed 1 --tag whittle-bench/gopets:once --spec testdata/targets/gopets/openapi.yaml --once -o json=bench/results/raw/gopets-once.json
