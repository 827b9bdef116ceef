"""A local Zenodo: a real HTTP server that behaves as ``ZENODO-API.md`` describes.

Imports nothing from the rest of maggot_zenodo. Modules: ``server`` (HTTP plumbing, faults,
rate limits, counters), ``api`` (routes), ``store`` (depositions and files, persisted),
``validation`` and ``vocabularies`` (metadata rules), ``listing`` (search and paging),
``views`` (JSON shapes), ``faults``, ``ratelimit``, ``httpio`` (streamed bodies), ``runner``
(:func:`start_emulator`), ``main`` (the ``maggot-zenodo emulator`` command).

Choices where Zenodo's behaviour is not pinned down (documented, tested):
- ``newversion`` when the concept already has an open new-version draft: if that draft holds
  no file, the previous version's files are copied into it again and the same draft is
  returned (201); if it holds files, 400 ``files.enabled`` "Please remove all files first."
  (Zenodo imports files into the draft and refuses when it is not empty.)
- ``discard`` on an edited record restores the published metadata (state ``done``); on an
  unpublished draft it deletes the draft (later access: 410); on a published record not being
  edited: 404. ``edit`` on a draft returns it unchanged (201).
- Files can change only while ``state`` is ``unsubmitted``: uploads and deletions on a
  published record, edited or not, answer 404.
- Known awards (checked at publish): ``10.13039/501100001665::ANR-NN-XXXX-NNNN`` (ANR) and
  ``10.13039/501100000780::<4-9 digits>`` (European Commission; a bare number means EC too).
- ``conceptdoi`` appears on every version of a concept once one version is published.
- Rate limits: a window per token opens at its first request and lasts 60 s; anonymous
  callers are counted per client address. ``/_emulator/`` answers carry no rate-limit headers.
- The default listing page size is 10; default sort ``mostrecent``.
"""

from maggot_zenodo.emulator.runner import EmulatorHandle, start_emulator

__all__ = ["EmulatorHandle", "start_emulator"]
