#!/usr/bin/env bash
# Issue 7's GPU figures in one go: our step against the reference step at the paper's 128 px model in
# several settings, the 256 px memory check, and a real `stargan train` of the paper configuration on
# 128 px synthetic faces. Logs go to $OUT (or ./gpu-logs). Usage, from the repository root:
#
#   bash benchmarks/gpu_train_speed.sh [step|memory|loop|graphs|norm|compile ...]
#
# (default: step memory loop compile; LOOP_PRECISIONS, LOOP_STEPS, LOOP_SET, LOOP_TAG adjust the loop part)
set -u
out=${OUT:-gpu-logs}
mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
python=${PYTHON:-python3}
parts=${*:-step memory loop compile}
nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv | tee "$out/gpu.txt"
$python -c "import torch, accelerate; print('torch', torch.__version__, 'accelerate', accelerate.__version__)"

bench() {  # name, flags...
    local name=$1
    shift
    echo "== train_step $name: $*"
    $python benchmarks/train_step.py --device cuda "$@" 2>&1 | tee "$out/step-$name.txt"
}

for part in $parts; do
    case $part in
    step)
        bench fp32 --precision fp32 --repeats 20
        bench bf16 --precision bf16 --repeats 20
        bench bf16-cl --precision bf16 --channels-last --repeats 20
        ;;
    graphs)
        bench bf16-cl-graphs --precision bf16 --channels-last --cuda-graphs --check-cycles 3 --repeats 20 --profile 12
        bench fp32-graphs --precision fp32 --cuda-graphs --check-cycles 3 --repeats 20
        bench bf16-graphs --precision bf16 --cuda-graphs --check-cycles 3 --repeats 20
        bench 256-bf16-cl-graphs --precision bf16 --channels-last --cuda-graphs --image-size 256 --check-cycles 3 \
            --repeats 4
        ;;
    norm)  # the trial NHWC instance norm (train_step.py --nhwc-norm), eager and graphed
        bench bf16-cl-nhwc --precision bf16 --channels-last --nhwc-norm --repeats 20
        bench bf16-cl-nhwc-graphs --precision bf16 --channels-last --nhwc-norm --cuda-graphs --check-cycles 3 \
            --repeats 20 --profile 12
        ;;
    compile)
        bench bf16-cl-compile --precision bf16 --channels-last --compile --repeats 20
        ;;
    memory)
        bench 256-bf16-cl --precision bf16 --channels-last --image-size 256 --repeats 4
        ;;
    loop)
        data=/tmp/toy128
        [ -d $data ] || $python -m stargan_cli prepare toyfaces --out $data --size 128 --train 4000 --test 100 |
            tail -1
        steps=${LOOP_STEPS:-1500}
        for precision in ${LOOP_PRECISIONS:-bf16}; do
            echo "== stargan train, paper configuration, $precision"
            STARGAN_QUIET=1 $python -m stargan_cli train recipes/celeba.toml --set "data.datasets=[\"$data\"]" \
                --set train.steps=$steps --set train.decay_start=$((steps / 2)) --set train.precision=$precision \
                --set output.runs_dir=/tmp/gpu-runs --set output.name=paper-$precision${LOOP_TAG:-} ${LOOP_SET:-} \
                2>&1 | tail -3
            run=$(ls -d /tmp/gpu-runs/*-paper-$precision${LOOP_TAG:-} | tail -1)
            $python benchmarks/loop_speed.py "$run" | tee "$out/loop-$precision${LOOP_TAG:-}.txt"
        done
        ;;
    esac
done
