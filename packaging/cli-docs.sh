#!/usr/bin/env bash
# Make the man page (argparse-manpage) and the bash completion (shtab) from cliparser.build_parser() (re-exported by cli):
#   cli-docs.sh PYTHON OUTDIR   writes OUTDIR/maggot-zenodo.1.gz and OUTDIR/maggot-zenodo.bash
# PYTHON must import maggot_zenodo, argparse_manpage and shtab (the `docs` extra).
set -euo pipefail
python=${1:?usage: cli-docs.sh PYTHON OUTDIR}
out=${2:?usage: cli-docs.sh PYTHON OUTDIR}
here=$(cd "$(dirname "$0")" && pwd)
version=$("$python" -c 'import maggot_zenodo; print(maggot_zenodo.__version__)')
mkdir -p "$out"
"$python" -c "import sys; from argparse_manpage.cli import main; sys.exit(main())" --module maggot_zenodo.cli --function build_parser \
    --project-name maggot-zenodo --prog maggot-zenodo --version "$version" \
    --description "publish Maggot datasets to Zenodo when a researcher drops a semaphore file" \
    --manual-title "maggot-zenodo manual" --author "maggot-zenodo developers" \
    --url https://github.com/inrae/pgd-mmdt --include "$here/manpage-extra.txt" \
    --output "$out/maggot-zenodo.1"
# -n: no name or time stamp in the header, so that two builds give the same file.
gzip -9nf "$out/maggot-zenodo.1"
"$python" -m shtab --shell=bash --prog maggot-zenodo maggot_zenodo.cli.build_parser \
    >"$out/maggot-zenodo.bash"
