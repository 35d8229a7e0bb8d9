# syntax=docker/dockerfile:1
# Specimen RDM application image: one image for the web app (gunicorn), the Celery workers, beat
# and the one-shot setup (docker-compose.full.yml picks the command). The native path
# (`make install`, `make assets`) builds the same thing into the project's .venv.
#
#   docker build -t specimen-rdm .
#
# Two stages: `build` has the compilers and Node.js for the front-end build; the final stage
# gets the virtual environment (with the built assets in .venv/var/instance/static) and only the
# run-time libraries. The venv lives at the same path in both stages, so its scripts work as-is.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
# rspack 2 (invenio-assets' build) requires Node ^20.19 || >=22.12; Debian bookworm's nodejs
# package is 18.x, so Node comes from the official Node 20 image (also Debian bookworm).
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS node

# --- build -----------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LANG=C.UTF-8

# Compilers for any sdist in the lock; libvips-dev so that pyvips builds its compiled binding
# (as in the native setup).
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential pkg-config libvips-dev curl \
 && rm -rf /var/lib/apt/lists/*

COPY --from=node /usr/local/bin/node /usr/local/bin/node
COPY --from=node /usr/local/lib/node_modules /usr/local/lib/node_modules
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && node --version && npm --version

WORKDIR /opt/specimen-rdm
ENV VIRTUAL_ENV=/opt/specimen-rdm/.venv \
    PATH=/opt/specimen-rdm/.venv/bin:$PATH

# Pinned dependencies first: this layer is rebuilt only when requirements.lock changes.
COPY requirements.lock ./
RUN --mount=type=cache,target=/root/.cache/pip \
    python -m venv .venv \
 && pip install --upgrade pip==25.3 setuptools wheel \
 && pip install -r requirements.lock

# The instance's own packages (dependencies come from the lock, as in `make install`).
COPY site/ site/
COPY modules/ modules/
RUN --mount=type=cache,target=/root/.cache/pip \
    pip install --no-deps ./site ./modules/specimens ./modules/annotations ./modules/mlmodels \
 && pip install --no-deps --target .venv/vendor/gbif-name-parser gbif-name-parser==0.4.0
# The taxon name index, built once into the image (see docs/operations.md).
ENV SPECIMEN_RDM_CACHE_DIR=/opt/specimen-rdm/.venv/var/cache
RUN python -c 'from specimen_rdm_specimens.taxon_names import taxon_index; taxon_index()'

# Everything else the instance needs: invenio.cfg, app_data/, assets/, static/, templates/,
# scripts/, services/env.sh (.dockerignore lets nothing else in). A folder missing from the
# context (git keeps no empty folders) is created empty in the next step.
COPY . ./

# The instance folder is sys.prefix/var/instance; link the configuration and data into it as
# the Makefile does.
RUN mkdir -p .venv/var/instance app_data assets static templates \
 && ln -sfn /opt/specimen-rdm/invenio.cfg .venv/var/instance/invenio.cfg \
 && ln -sfn /opt/specimen-rdm/app_data .venv/var/instance/app_data \
 && ln -sfn /opt/specimen-rdm/templates .venv/var/instance/templates

# Front end: collect static files, write the rspack project, npm install, build
# (~2.5 min, <1 GB RAM). Output: .venv/var/instance/static/dist. node_modules is not needed at
# run time.
RUN --mount=type=cache,target=/root/.npm \
    bash scripts/build-assets.sh \
 && test -f .venv/var/instance/static/dist/manifest.json \
 && rm -rf .venv/var/instance/assets/node_modules

# --- run time --------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE}
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

# libvips for IIIF tiles, libcairo2 for cairosvg (badges), curl for health checks, and the
# en_US.UTF-8 locale (some RDM code formats dates with it).
RUN apt-get update \
 && apt-get install -y --no-install-recommends libvips42 libcairo2 curl locales \
 && sed -i 's/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/' /etc/locale.gen \
 && locale-gen \
 && rm -rf /var/lib/apt/lists/*
ENV LANG=en_US.UTF-8

RUN groupadd --system --gid 1000 specimen \
 && useradd --system --uid 1000 --gid specimen --create-home --home-dir /home/specimen specimen

WORKDIR /opt/specimen-rdm
COPY --from=build /opt/specimen-rdm /opt/specimen-rdm
ENV VIRTUAL_ENV=/opt/specimen-rdm/.venv \
    PATH=/opt/specimen-rdm/.venv/bin:$PATH

# Writable places, owned by the app user; named volumes mounted on them start with this owner.
#   var/data     file location `default` (active storage)
#   var/archive  file location `archive`
#   var/setup    setup-instance.sh's per-database stamps
#   var/log      setup and asset logs
#   /srv/static  copy of the static files for nginx (see the `web` service)
RUN mkdir -p var/data var/archive var/setup var/log /srv/static \
 && chown -R specimen:specimen var /srv/static

USER specimen
EXPOSE 5000
CMD ["gunicorn", "-b", "0.0.0.0:5000", "-w", "4", "--timeout", "120", "specimen_rdm.wsgi:application"]
