"""Fast text rendering of picks and amplitudes (the bulk of a picker's output).

The lxml builders in :mod:`.scml` and :mod:`.quakeml` stay the reference: the functions here
produce exactly the bytes ``etree.tostring(builder(obj), pretty_print=pretty)`` gives, as pre-
formatted text (no element tree per object).  They cover the common case only: every string
value must be non-empty where it is element text and ``str.isprintable()`` (so no control
characters, no newlines, nothing lxml would reject or escape as a character reference).  For
anything else they return ``None`` and the caller falls back to the lxml builder, which keeps
the output byte-identical in every case (tests/test_xml_roundtrip.py compares both).
"""

from __future__ import annotations

from typing import Optional

from lxml import etree

from ...picks.model import Amplitude, CreationInfo, Pick
from .common import format_float, format_time, to_quakeml_id
from .quakeml import AMPLITUDE_UNITS

_CACHE_LIMIT = 10_000


def _remember(cache: dict, key, value):
    """Store ``value`` under ``key`` in a bounded cache (emptied when it grows past the limit)."""
    if len(cache) > _CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value


def escape_text(s: str) -> str:
    """XML character data as lxml writes it for printable strings: ``& < >`` escaped."""
    if "&" in s:
        s = s.replace("&", "&amp;")
    if "<" in s:
        s = s.replace("<", "&lt;")
    if ">" in s:
        s = s.replace(">", "&gt;")
    return s


def escape_attr(s: str) -> str:
    """An attribute value (in double quotes) as lxml writes it for printable strings."""
    s = escape_text(s)
    if '"' in s:
        s = s.replace('"', "&quot;")
    return s


def start_tag(tag: str, attrs: dict) -> str:
    """``<tag a="v">`` exactly as lxml writes it (any attribute value lxml accepts)."""
    text = etree.tostring(etree.Element(tag, attrs), encoding="unicode")
    assert text.endswith("/>")
    return text[:-2] + ">"


def element_text(el, pretty: bool) -> str:
    """A built element serialised as the old ``xmlfile.write(el, pretty_print=pretty)`` did."""
    return etree.tostring(el, encoding="unicode", pretty_print=pretty)


class Renderer:
    """Renders picks/amplitudes of one format and layout; caches the fragments picks share."""

    def __init__(self, fmt: str, pretty: bool):
        self.qml = fmt == "quakeml"
        self.pretty = pretty
        if pretty:
            self.nl1, self.nl2, self.nl0, self.end = "\n  ", "\n    ", "\n", "\n"
        else:
            self.nl1 = self.nl2 = self.nl0 = self.end = ""
        self._wid: dict = {}
        self._ci: dict = {}
        self._qid: dict = {}
        self._elem: dict = {}
        # the probability comment around its value
        self._prob_head, self._prob_tail = self._comment_wrap("probability")

    # -- cached fragments (None: not for the fast path)
    def _qml_id(self, s: str) -> str:
        q = self._qid.get(s)
        if q is None:
            q = _remember(self._qid, s, to_quakeml_id(s))
        return q

    def _waveform(self, w) -> Optional[str]:
        key = (w.network, w.station, w.location, w.channel)
        text = self._wid.get(key)
        if text is None:
            net, sta, loc, cha = key
            loc = loc or ""
            cha = cha or ""
            if not all(isinstance(v, str) and v.isprintable() for v in (net, sta, loc, cha)):
                return None
            text = (f'{self.nl1}<waveformID networkCode="{escape_attr(net)}" stationCode="{escape_attr(sta)}" '
                    f'locationCode="{escape_attr(loc)}" channelCode="{escape_attr(cha)}"/>')
            _remember(self._wid, key, text)
        return text

    def _creation(self, ci: CreationInfo) -> Optional[str]:
        ct = ci.creation_time
        key = (ci.agency_id, ci.author, None if ct is None else getattr(ct, "ns", ct))
        text = self._ci.get(key)
        if text is None:
            agency, author = ci.agency_id, ci.author
            if agency is None and author is None and ct is None:
                return None  # <creationInfo/>: rare, lxml path
            nl1, nl2 = self.nl1, self.nl2
            parts = [nl1, "<creationInfo>"]
            for tag, v in (("agencyID", agency), ("author", author)):
                if v is not None:
                    if not (isinstance(v, str) and v and v.isprintable()):
                        return None
                    parts += [nl2, "<", tag, ">", escape_text(v), "</", tag, ">"]
            if ct is not None:
                parts += [nl2, "<creationTime>", format_time(ct), "</creationTime>"]
            parts += [nl1, "</creationInfo>"]
            text = "".join(parts)
            _remember(self._ci, key, text)
        return text

    def _simple(self, tag: str, v) -> Optional[str]:
        """``<tag>v</tag>`` at depth 1 (cached: methodID, phaseHint, modes repeat)."""
        key = (tag, v)
        text = self._elem.get(key)
        if text is None:
            if not (isinstance(v, str) and v and v.isprintable()):
                return None
            if self.qml and tag in ("methodID", "filterID"):
                v = self._qml_id(v)
            text = f"{self.nl1}<{tag}>{escape_text(v)}</{tag}>"
            _remember(self._elem, key, text)
        return text

    def _comment_wrap(self, cid) -> Optional[tuple]:
        """The text of a comment with id ``cid`` before and after its escaped text."""
        if cid is not None and not (isinstance(cid, str) and cid and cid.isprintable()):
            return None
        nl1, nl2 = self.nl1, self.nl2
        if self.qml:
            head = "<comment>" if cid is None else f'<comment id="{escape_attr(self._qml_id(cid))}">'
            return f"{nl1}{head}{nl2}<text>", f"</text>{nl1}</comment>"
        tail = "" if cid is None else f"{nl2}<id>{escape_text(cid)}</id>"
        return f"{nl1}<comment>{nl2}<text>", f"</text>{tail}{nl1}</comment>"

    def _comment(self, text: str, cid) -> Optional[str]:
        if not (isinstance(text, str) and text and text.isprintable()):
            return None
        wrap = self._comment_wrap(cid)
        if wrap is None:
            return None
        return wrap[0] + escape_text(text) + wrap[1]

    # -- objects
    def pick(self, p: Pick) -> Optional[str]:
        """The pick as text, or None (use the lxml builder).  Call ``check_pick`` first."""
        pid = p.public_id
        if not (isinstance(pid, str) and pid.isprintable()):
            return None
        if self.qml:
            pid = to_quakeml_id(pid)
        if "&" in pid or "<" in pid or ">" in pid or '"' in pid:
            pid = escape_attr(pid)
        wid = self._waveform(p.waveform_id)
        if wid is None:
            return None
        nl1, nl2 = self.nl1, self.nl2
        v = p.time_uncertainty
        unc = "" if v is None else f"{nl2}<uncertainty>{format_float(v)}</uncertainty>"
        if p.time_lower_uncertainty is not None:
            unc += f"{nl2}<lowerUncertainty>{format_float(p.time_lower_uncertainty)}</lowerUncertainty>"
        if p.time_upper_uncertainty is not None:
            unc += f"{nl2}<upperUncertainty>{format_float(p.time_upper_uncertainty)}</upperUncertainty>"
        # filterID, methodID, phaseHint, evaluationMode, evaluationStatus (cached fragments)
        elem = self._elem
        mid = ""
        for tag, v in (("filterID", p.filter_id), ("methodID", p.method_id), ("phaseHint", p.phase_hint),
                       ("evaluationMode", p.evaluation_mode), ("evaluationStatus", p.evaluation_status)):
            if v is not None:
                t = elem.get((tag, v)) or self._simple(tag, v)
                if t is None:
                    return None
                mid += t
        ci = p.creation_info
        if ci is not None:
            t = self._creation(ci)
            if t is None:
                return None
            mid += t
        if p.probability is not None:
            mid += f"{self._prob_head}{format_float(p.probability)}{self._prob_tail}"
        if p.reference_pick_id is not None:
            t = self._comment(p.reference_pick_id, "referencePickID")
            if t is None:
                return None
            mid += t
        for c in p.comments:
            t = self._comment(c.text, c.id)
            if t is None:
                return None
            mid += t
        return (f'<pick publicID="{pid}">{nl1}<time>{nl2}<value>{format_time(p.time)}</value>{unc}{nl1}</time>'
                f"{wid}{mid}{self.nl0}</pick>{self.end}")

    def amplitude(self, a: Amplitude) -> Optional[str]:
        """The amplitude as text, or None (use the lxml builder)."""
        pid, atype = a.public_id, a.type
        if not (isinstance(pid, str) and pid and pid.isprintable() and isinstance(atype, str)
                and atype and atype.isprintable()):
            return None
        nl1, nl2 = self.nl1, self.nl2
        qml = self.qml
        if qml:
            pid = to_quakeml_id(pid)
        parts = [f'<amplitude publicID="{escape_attr(pid)}">']
        value = None
        if a.value is not None:
            value = f"{nl2}<value>{format_float(a.value)}</value>{nl1}"
        type_t = f"{nl1}<type>{escape_text(atype)}</type>"
        snr_t = "" if a.snr is None else f"{nl1}<snr>{format_float(a.snr)}</snr>"
        unit_t = ""
        if a.unit is not None:
            unit_t = self._simple("unit", a.unit if not qml or a.unit in AMPLITUDE_UNITS else "other")
            if unit_t is None:
                return None
        window_t = ""
        if a.reference_time is not None:
            w = [("reference", format_time(a.reference_time)), ("begin", format_float(a.window_begin or 0.0)),
                 ("end", format_float(a.window_end or 0.0))]
            if qml:
                w = w[1:] + w[:1]
            window_t = f"{nl1}<timeWindow>" + "".join(f"{nl2}<{k}>{v}</{k}>" for k, v in w) + f"{nl1}</timeWindow>"
        # the order each XSD fixes (as in the scml/quakeml builders)
        if qml:
            if value is not None:
                parts.append(f"{nl1}<genericAmplitude>{value}</genericAmplitude>")
            parts += [type_t, window_t, unit_t, snr_t]
        else:
            parts.append(type_t)
            if value is not None:
                parts.append(f"{nl1}<amplitude>{value}</amplitude>")
            parts += [window_t, snr_t, unit_t]
        if a.pick_id is not None:
            v = a.pick_id
            if not (isinstance(v, str) and v and v.isprintable()):
                return None
            if qml:
                v = to_quakeml_id(v)
            parts.append(f"{nl1}<pickID>{escape_text(v)}</pickID>")
        if a.waveform_id is not None:
            t = self._waveform(a.waveform_id)
            if t is None:
                return None
            parts.append(t)
        if a.creation_info is not None:
            t = self._creation(a.creation_info)
            if t is None:
                return None
            parts.append(t)
        if qml and a.unit is not None and a.unit not in AMPLITUDE_UNITS:
            t = self._comment(a.unit, "unit")
            if t is None:
                return None
            parts.append(t)
        parts.append(f"{self.nl0}</amplitude>{self.end}")
        return "".join(parts)
