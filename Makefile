# Two commands do all the set-up on a fresh machine:
#   make demo   installs into .venv, cartoonises the showcase photos with the face model this repository ships
#               (facial_landmarks: offline, a real cartoon in the first minute), then with the author's face model and
#               the released White-box model where they can be downloaded or are cached, then runs
#               pretrain -> train -> test on a tiny demo set (a pipeline check, CPU, minutes)
#   make test   installs into .venv and runs ruff and the test suite
PY := .venv/bin/python
STAMP := .venv/.installed

.PHONY: demo test install app web mutate live_model live_refresh stress anime_model

$(STAMP): requirements.txt
	python3 -m venv .venv
	.venv/bin/pip install -q --upgrade pip
	.venv/bin/pip install -q -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

test: $(STAMP)
	.venv/bin/ruff check .
	.venv/bin/lint-imports
	$(PY) -m pytest -q tests

demo: $(STAMP)
	$(PY) -m datasets.make_demo --out datasets/demo
	$(PY) test.py --model facial_landmarks --input datasets/demo/showcase --out results/demo_facial_landmarks --align
	-$(PY) test.py --model facial --input datasets/demo/showcase --out results/demo_facial --align \
		|| echo "(the author's face model could not be downloaded: skipped)"
	-$(PY) test.py --model whitebox --input datasets/demo/showcase --out results/demo_whitebox --align \
		|| echo "(the released White-box model could not be downloaded: skipped)"
	$(PY) pretrain.py --total_iter 100 --batch_size 4 --image_size 128 --photo_dir datasets/demo/photo \
		--save_every 50 --sample_every 50
	$(PY) train.py --total_iter 60 --model_version 0 --batch_size 4 --image_size 128 \
		--photo_dir datasets/demo/photo --cartoon_dir datasets/demo/cartoon --vgg_weights random \
		--save_every 30 --sample_every 30
	$(PY) test.py --model_version 0 --batch 60 --photo_dir datasets/demo/photo --num 8
	$(PY) -m datasets.make_demo --where results

app: $(STAMP)
	$(PY) app.py

web: $(STAMP)
	$(PY) -m web

# the real-time face model (facial_live), distilled from the shipped facial_landmarks (or from TEACHER) on PHOTOS, the
# last 100 held out: three stages of one run, scored against the teacher, then released into models/released/.
# About 1.5 hours on a 2-core CPU with native bf16; minutes on a GPU (docs/studies.md)
PHOTOS ?= ../shared/data/selfie2anime/photo
TEACHER ?= facial_landmarks
LIVE := checkpoints/saved_models/live2_batch_22000.pth
live_model: $(STAMP)
	$(PY) distill.py --photo_dir $(PHOTOS) --teacher $(TEACHER) --model_version 2 --total_iter 16000 \
		--workers 1 --keep_last 2 --sample_every 1000
	$(PY) distill.py --model_version 2 --resume --total_iter 20000 --edges 3
	$(PY) distill.py --model_version 2 --resume --total_iter 22000 --flat 5 --lr 1e-3
	$(PY) -m studies.live_model --photo_dir $(PHOTOS) --teacher $(TEACHER) --student $(LIVE) --out results/live2
	$(PY) -m models.released.release $(LIVE) models/released/facial_live.pth \
		--licence "CC BY-NC-SA 4.0 (a derivative of Xinrui Wang's face model: distilled from $(TEACHER); non-commercial use only)" \
		--made "make live_model (TEACHER=$(TEACHER) PHOTOS=$(PHOTOS))"

# when the teacher has changed: the shipped student distilled again from it, starting from itself (3,000 steps:
# about 12 minutes on 2 cores with native bf16), scored, released in its place
REFRESH := checkpoints/saved_models/live5_batch_3000.pth
live_refresh: $(STAMP)
	$(PY) distill.py --photo_dir $(PHOTOS) --teacher $(TEACHER) --start facial_live --model_version 5 \
		--total_iter 3000 --edges 3 --flat 5 --lr 2e-4 --workers 1 --keep_last 2 --sample_every 1000
	$(PY) -m studies.live_model --photo_dir $(PHOTOS) --teacher $(TEACHER) --student $(REFRESH) --out results/live5
	$(PY) -m models.released.release $(REFRESH) models/released/facial_live.pth \
		--licence "CC BY-NC-SA 4.0 (a derivative of Xinrui Wang's face model: distilled from $(TEACHER); non-commercial use only)" \
		--made "make live_refresh (TEACHER=$(TEACHER) PHOTOS=$(PHOTOS)), from the facial_live before it"

# the project's own cartoon model, from nothing but photos and cartoons: selfie2anime split (the last 100 photos to
# report, the 100 before them to watch the run), White-box's L1 pretraining, then every term of the loss with
# EfficientNet-Lite0 as the content network (offline), scored on the report set, released as `anime` only when it
# meets every bound (studies/anime_model.py). Resumable: run it again and it goes on where it stopped, here or, from
# the state a session leaves in runs/anime (studies/run_state.py), on another machine. Cost and figures: docs/anime.md
CARTOONS ?= ../shared/data/selfie2anime/cartoon
ANIME_DATA := datasets/selfie2anime
ANIME := checkpoints/anime
ANIME_STEPS ?= 30000
ANIME_WEIGHTS ?= --w0 1e5 --w1 0.1 --w2 1 --w3 2e3 --w4 2e3 --w5 1
ANIME_FLAGS := --batch_size 8 --image_size 128 --photo_dir $(ANIME_DATA)/train --save_dir $(ANIME)/saved_models \
	--log_dir $(ANIME)/logs --resume auto
anime_model: $(STAMP)
	.venv/bin/pip install -q -r requirements-study.txt
	$(PY) -m datasets.split $(PHOTOS) $(ANIME_DATA) --held_out watch=100 report=100
	$(PY) -m studies.run_state restore $(ANIME) gen11 runs/anime
	@# pretraining only when the run has not started (a restored run needs no pretrained start)
	ls $(ANIME)/saved_models/gen11_batch_*.pth >/dev/null 2>&1 || \
		$(PY) pretrain.py $(ANIME_FLAGS) --total_iter 2000 --save_every 500
	$(PY) train.py $(ANIME_FLAGS) --model_version 11 --total_iter $(ANIME_STEPS) --cartoon_dir $(CARTOONS) \
		--pretrained $(ANIME)/saved_models/pre_gen_batch_2000.pth --vgg_weights efficientnet-lite0 \
		--landmark_view points $(ANIME_WEIGHTS) --eval_dir $(ANIME_DATA)/watch --eval_every 500 --eval_num 100 \
		--save_every 500 --sample_every 500
	$(PY) -m training.plot $(ANIME)/logs/gen11 --out results/anime/curves.png
	$(PY) -m studies.anime_model --run $(ANIME) --model_version 11 --watch $(ANIME_DATA)/watch \
		--report $(ANIME_DATA)/report --cartoon_dir $(CARTOONS) --out results/anime --release models/released/anime.pth

# the flake routine: the tests that race (processes, signals, the page) N times (30 by default), failures counted per
# test (tests/stress.py; the tally in results/stress.json). Run it after any change to processes, signals or the page
N ?= 30
stress: $(STAMP)
	$(PY) -m tests.stress --rounds $(N)

# mutation testing of the numerical core (pyproject.toml [tool.mutmut]); hours on two cores, resumable, not in CI:
# the scores and the equivalent mutants are kept in docs/mutation.md
mutate: $(STAMP)
	.venv/bin/pip install -q mutmut==3.8.1
	@# mutmut copies the files it does not mutate once and keeps them: drop stale copies so that it copies them again
	@for f in $$(cd mutants 2>/dev/null && find . -name '*.py'); do \
		[ -e mutants/$$f.meta ] || cmp -s $$f mutants/$$f || rm -f mutants/$$f; done
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 .venv/bin/mutmut run --max-children $${JOBS:-2}
	.venv/bin/mutmut results --all true | $(PY) -m studies.mutation_scores
