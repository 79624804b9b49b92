"""Render the BPMN diagrams in processes/ to PNG files in docs/ with bpmn-js in headless Chromium.

    .venv/bin/python scripts/render_diagrams.py [--out docs] [FILE.bpmn ...]

Needs `npm ci` (bpmn-js from the npm registry) and Debian's Chromium at /usr/bin/chromium (both installed by
scripts/setup.sh --test). Never downloads a browser.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from lxml import etree
from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from web.roles import ROLE_LABELS  # noqa: E402  (lane names are role ids; people read the role's label)

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
VIEWER = ROOT / "node_modules" / "bpmn-js" / "dist"
CHROMIUM = "/usr/bin/chromium"
MARGIN = 40
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]

PAGE = """<!doctype html><html><head><meta charset="utf-8">
<style>html,body{margin:0;background:#fff} #canvas{width:%(w)dpx;height:%(h)dpx}</style>
<style>%(css)s</style></head><body><div id="canvas"></div>
<script>%(js)s</script>
<script>
window.render = async (xml) => {
  const viewer = new BpmnJS({container: '#canvas'});
  await viewer.importXML(xml);
  const canvas = viewer.get('canvas');
  const inner = canvas.viewbox().inner;
  return {inner};
};
window.show = (x, y, w, h) => {
  document.querySelector('#canvas').style.width = w + 'px';
  document.querySelector('#canvas').style.height = h + 'px';
};
</script></body></html>"""


def readable(xml: str) -> str:
    """The diagram as people read it: a lane's name is a role id for the engine, shown by its label."""
    root = etree.fromstring(xml.encode("utf-8"), etree.XMLParser(resolve_entities=False, no_network=True))
    for lane in root.iter(f"{{{BPMN_NS}}}lane"):
        lane.set("name", ROLE_LABELS.get(lane.get("name"), lane.get("name") or ""))
    return etree.tostring(root, encoding="unicode")


def render(paths: list[Path], out: Path, width: int = 1600, height: int = 1000) -> list[Path]:
    css = "\n".join((VIEWER / "assets" / name).read_text() for name in ("diagram-js.css", "bpmn-js.css"))
    js = (VIEWER / "bpmn-viewer.production.min.js").read_text()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        for path in paths:
            page.set_content(PAGE % {"w": width, "h": height, "css": css, "js": js})
            xml = readable(path.read_text(encoding="utf-8"))
            result = page.evaluate("xml => window.render(xml)", xml)
            inner = (result or {}).get("inner") or {}
            if not inner.get("width"):
                raise RuntimeError(f"{path}: bpmn-js rendered nothing: {json.dumps(result)}")
            # Render at 1:1 so every label stays legible, sized to the diagram's own bounds.
            w, h = int(inner["width"] + 2 * MARGIN), int(inner["height"] + 2 * MARGIN)
            page.set_viewport_size({"width": w, "height": h})
            page.set_content(PAGE % {"w": w, "h": h, "css": css, "js": js})
            page.evaluate("""async ([xml, x, y, w, h]) => {
                const viewer = new BpmnJS({container: '#canvas'});
                await viewer.importXML(xml);
                viewer.get('canvas').viewbox({x, y, width: w, height: h});
            }""", [xml, inner["x"] - MARGIN, inner["y"] - MARGIN, w, h])
            target = out / f"{path.stem}.png"
            page.screenshot(path=str(target), full_page=False)
            written.append(target)
        browser.close()
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, default=ROOT / "docs")
    args = parser.parse_args(argv)
    files = args.files or sorted((ROOT / "processes").glob("*.bpmn"))
    for target in render(files, args.out):
        print(target.relative_to(ROOT) if target.is_relative_to(ROOT) else target)


if __name__ == "__main__":
    sys.exit(main())
