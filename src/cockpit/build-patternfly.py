#!/usr/bin/env python3
"""Assembles patternfly.css for the Cockpit page from the PatternFly 4
release Cockpit 287 is built with (npm package @patternfly/patternfly):
the base (variables, reset, utilities) and the components the page uses.

PatternFly's own @font-face rules point at fonts it bundles; Cockpit already
serves the Red Hat fonts under /cockpit/static/fonts, so those rules are
replaced by ones that use Cockpit's copies, as Cockpit's own pages do.

usage: build-patternfly.py PATTERNFLY_DIR OUTPUT
"""
import os
import re
import sys

COMPONENTS = [
    "Page/page.css", "Title/title.css", "Card/card.css", "Table/table.css",
    "Toolbar/toolbar.css", "FormControl/form-control.css", "Button/button.css",
    "EmptyState/empty-state.css", "Tabs/tabs.css", "Breadcrumb/breadcrumb.css",
    "Label/label.css", "Alert/alert.css", "DescriptionList/description-list.css",
    "Spinner/spinner.css", "Content/content.css", "Select/select.css",
]
LAYOUTS = ["Flex/flex.css", "Gallery/gallery.css", "Stack/stack.css"]

FONTS = [("RedHatDisplay", w, n) for w, n in ((400, "Regular"), (500, "Medium"), (700, "Bold"))] + \
        [("RedHatText", w, n) for w, n in ((400, "Regular"), (500, "Medium"), (700, "Bold"))] + \
        [("RedHatMono", w, n) for w, n in ((400, "Regular"), (500, "Medium"))]


def cockpit_fonts():
    return "".join(
        f'@font-face{{font-family:"{family}";font-style:normal;font-weight:{weight};'
        f'src:url("../../static/fonts/{family}-{name}.woff2") format("woff2");}}\n'
        for family, weight, name in FONTS)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip().splitlines()[-1])
    pf, output = sys.argv[1:]
    parts = []
    base = open(os.path.join(pf, "patternfly-base.css"), encoding="utf-8").read()
    base = re.sub(r"@font-face\s*{[^}]*}", "", base)
    parts.append(base)
    for sub, names in (("components", COMPONENTS), ("layouts", LAYOUTS)):
        for name in names:
            with open(os.path.join(pf, sub, name), encoding="utf-8") as f:
                parts.append(f"/* {sub}/{name} */\n" + f.read())
    text = "\n".join(parts)
    # Icons and images PatternFly bundles are not shipped; no rule may fetch them.
    text = re.sub(r'url\("?\.\.?/[^)]*assets/[^)]*\)', "none", text)
    with open(output, "w", encoding="utf-8") as f:
        f.write("/* PatternFly 4 (MIT), assembled by src/cockpit/build-patternfly.py */\n")
        f.write(cockpit_fonts())
        f.write(text)


if __name__ == "__main__":
    main()
