#!/usr/bin/env bash
# GPU figures in one go: our step against the reference step at the paper's 128 px model in several
# settings, the 256 px memory check, a real `stargan train` of the paper configuration on 128 px synthetic
# faces, and the joint toy recipe at GPU budget. Logs go to $OUT (or ./gpu-logs). Usage, from the
# repository root:
#
#   bash benchmarks/gpu_train_speed.sh [step|memory|loop|graphs|fused|compile|joint|issue28 ...]
#
# (default: step memory loop compile; LOOP_PRECISIONS, LOOP_STEPS, LOOP_SET, LOOP_TAG adjust the loop part;
# JOINT_SEEDS, JOINT_STEPS, JOINT_SET, JOINT_MINUTES the joint part). `issue28` is issue 28's whole device run, sized
# for 8 minutes: fused (the NHWC instance norm and padded first convolution against the unfused paths,
# graphed bf16), the graphed bf16 loop for 2,000 iterations, and the joint recipe twice as wide for two
# seeds side by side with its cross-dataset accuracy. SMOKE=1 runs every part tiny on the CPU (a check of
# the script itself, no figures).
set -u
out=${OUT:-gpu-logs}
mkdir -p "$out"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
python=${PYTHON:-python3}
parts=${*:-step memory loop compile}
parts=${parts/issue28/fused loop-graphs joint}
if [ "${SMOKE:-0}" = 1 ]; then  # the script's own check on a CPU: every command, tiny
    device=cpu size=(--image-size 64 --batch 2 --n-critic 2) last=(--repeats 2) graphs=() loop_steps=20 joint_steps=20
    minutes=5
    paper_data=(/tmp/toy32-smoke --size 32 --train 200 --test 20)
    tiny=(--set model.image_size=32 --set model.g_conv_dim=8 --set model.d_conv_dim=8 --set model.d_repeat_num=3
        --set data.batch_size=4 --set train.log_every=2)
else
    device=cuda size=() graphs=(--cuda-graphs --check-cycles 3) loop_steps=${LOOP_STEPS:-1500}
    joint_steps=${JOINT_STEPS:-8000} minutes=${JOINT_MINUTES:-4} last=() tiny=()
    paper_data=(/tmp/toy128 --size 128 --train 4000 --test 100)
    nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv | tee "$out/gpu.txt"
fi
$python -c "import torch, accelerate; print('torch', torch.__version__, 'accelerate', accelerate.__version__)"

bench() {  # name, flags...
    local name=$1
    shift
    echo "== train_step $name: $*"
    $python benchmarks/train_step.py --device $device "${size[@]}" "$@" "${last[@]}" 2>&1 | tee "$out/step-$name.txt"
}

paper_loop() {  # tag, settings...: `stargan train` of the paper configuration on 128 px toy faces
    local tag=$1 data=${paper_data[0]}
    shift
    [ -d $data ] || $python -m stargan_cli prepare toyfaces --out "${paper_data[@]}" | tail -1
    echo "== stargan train, paper configuration, $tag, $loop_steps steps"
    STARGAN_QUIET=1 $python -m stargan_cli train recipes/celeba.toml --set "data.datasets=[\"$data\"]" \
        --set train.steps=$loop_steps --set train.decay_start=$((loop_steps / 2)) --set train.device=$device \
        --set output.runs_dir=/tmp/gpu-runs --set output.name=paper-$tag "${tiny[@]}" "$@" 2>&1 | tail -3
    $python benchmarks/loop_speed.py "$(ls -d /tmp/gpu-runs/*-paper-$tag | tail -1)" | tee "$out/loop-$tag.txt"
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
    fused)  # issue 28: NHWC instance norm + first convolution on 16 channels, against the paths before it
        bench bf16-graphs --precision bf16 "${graphs[@]}" --repeats 20
        bench bf16-cl-graphs-unfused --precision bf16 --channels-last --unfused-nhwc "${graphs[@]}" --repeats 20
        bench bf16-cl-graphs-fused --precision bf16 --channels-last "${graphs[@]}" --repeats 20 --profile 12
        ;;
    loop-graphs)  # issue 28: the loop as a user runs it fastest (bf16, channels_last by default, graphs)
        loop_steps=${LOOP_STEPS:-2000}
        [ "${SMOKE:-0}" = 1 ] && loop_steps=20 set=() || set=(--set train.cuda_graphs=true)
        paper_loop bf16-graphs-fused --set train.precision=bf16 "${set[@]}"
        ;;
    joint)  # issue 28: the joint toy recipe at GPU budget, JOINT_SEEDS side by side on the one device
        [ -d /tmp/gpu-data/toyfaces ] || $python -m stargan_cli prepare toyfaces --out /tmp/gpu-data/toyfaces | tail -1
        [ -d /tmp/gpu-data/toyrafd ] || $python -m stargan_cli prepare toyfaces --style rafd --out /tmp/gpu-data/toyrafd |
            tail -1
        settings=(${JOINT_SET:-model.g_conv_dim=32 model.d_conv_dim=64 train.steps=$joint_steps
            train.decay_start=$((joint_steps / 2))})
        flags=(--set 'data.datasets=["/tmp/gpu-data/toyfaces","/tmp/gpu-data/toyrafd"]' --set train.device=$device
            --set output.runs_dir=/tmp/gpu-runs --set train.checkpoint_every=2000)
        for s in "${settings[@]}"; do flags+=(--set "$s"); done
        for seed in ${JOINT_SEEDS:-1234 1235}; do
            echo "== joint toy recipe, seed $seed: ${settings[*]} (stopped after $minutes min)"
            STARGAN_QUIET=1 timeout -s INT $((minutes * 60)) $python -m stargan_cli train recipes/toyfaces_joint.toml \
                "${flags[@]}" --set train.seed=$seed --set output.name=joint-$seed >"$out/joint-$seed.train.txt" 2>&1 &
        done
        wait
        for seed in ${JOINT_SEEDS:-1234 1235}; do
            run=$(ls -d /tmp/gpu-runs/*-joint-$seed | tail -1)
            tail -2 "$out/joint-$seed.train.txt"
            $python -m stargan_cli evaluate "$run" --device $device 2>&1 | tee "$out/joint-$seed.evaluate.txt" | tail -25
        done
        ;;
    compile)
        bench bf16-cl-compile --precision bf16 --channels-last --compile --repeats 20
        ;;
    memory)
        bench 256-bf16-cl --precision bf16 --channels-last --image-size 256 --repeats 4
        ;;
    loop)
        for precision in ${LOOP_PRECISIONS:-bf16}; do
            paper_loop $precision${LOOP_TAG:-} --set train.precision=$precision ${LOOP_SET:-}
        done
        ;;
    esac
done
