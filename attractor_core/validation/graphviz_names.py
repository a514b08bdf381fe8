"""Graphviz's own attributes (graphviz.org/doc/info/attrs.html), by where they apply.

A pipeline file is also a drawing: these only change how Graphviz renders
it, attractor ignores them, and the ``unknown_attribute`` lint stays
silent about them. (``label``, ``shape``, ``class`` and ``weight`` are
Graphviz attributes that attractor also reads; the attribute schema
declares those.)
"""

from __future__ import annotations

_COMMON = frozenset({
    "URL", "href", "id", "class", "colorscheme", "comment", "fontcolor", "fontname",
    "fontsize", "label", "labelloc", "layer", "margin", "nojustify", "penwidth", "style",
    "target", "tooltip", "xlabel", "xlp", "lp", "pos", "showboxes", "color", "fillcolor",
    "gradientangle",
})

NODE = _COMMON | frozenset({
    "area", "distortion", "fixedsize", "group", "height", "image", "imagepos", "imagescale",
    "ordering", "orientation", "peripheries", "pin", "rects", "regular", "root",
    "samplepoints", "shape", "shapefile", "sides", "skew", "sortv", "vertices", "width", "z",
})

EDGE = _COMMON | frozenset({
    "arrowhead", "arrowsize", "arrowtail", "constraint", "decorate", "dir", "edgehref",
    "edgetarget", "edgetooltip", "edgeURL", "head_lp", "headclip", "headhref", "headlabel",
    "headport", "headtarget", "headtooltip", "headURL", "labelangle", "labeldistance",
    "labelfloat", "labelfontcolor", "labelfontname", "labelfontsize", "labelhref",
    "labeltarget", "labeltooltip", "labelURL", "len", "lhead", "ltail", "minlen",
    "samehead", "sametail", "tailclip", "tailhref", "taillabel", "tailport", "tailtarget",
    "tailtooltip", "tailURL", "weight",
})

GRAPH = _COMMON | frozenset({
    "_background", "bb", "beautify", "bgcolor", "center", "charset", "clusterrank",
    "compound", "concentrate", "Damping", "defaultdist", "dim", "dimen",
    "diredgeconstraints", "dpi", "epsilon", "esep", "fontnames", "fontpath", "forcelabels",
    "imagepath", "inputscale", "K", "label_scheme", "labeljust", "landscape",
    "layerlistsep", "layers", "layerselect", "layersep", "layout", "levels", "levelsgap",
    "lheight", "linelength", "lwidth", "maxiter", "mclimit", "mindist", "mode", "model",
    "newrank", "nodesep", "normalize", "notranslate", "nslimit", "nslimit1", "oneblock",
    "ordering", "orientation", "outputorder", "overlap", "overlap_scaling",
    "overlap_shrink", "pack", "packmode", "pad", "page", "pagedir", "quadtree", "quantum",
    "rankdir", "ranksep", "ratio", "remincross", "repulsiveforce", "resolution", "root",
    "rotate", "rotation", "scale", "searchsize", "sep", "size", "smoothing", "sortv",
    "splines", "start", "stylesheet", "TBbalance", "truecolor", "viewport", "voro_margin",
    "xdotversion", "rank",
})

# Graphviz node shapes (graphviz.org/doc/info/shapes.html): valid in a drawing, but only
# those of the spec's shape table pick a handler.
SHAPES = frozenset({
    "box", "polygon", "ellipse", "oval", "circle", "point", "egg", "triangle", "plaintext",
    "plain", "diamond", "trapezium", "parallelogram", "house", "pentagon", "hexagon",
    "septagon", "octagon", "doublecircle", "doubleoctagon", "tripleoctagon", "invtriangle",
    "invtrapezium", "invhouse", "Mdiamond", "Msquare", "Mcircle", "rect", "rectangle",
    "square", "star", "none", "underline", "cylinder", "note", "tab", "folder", "box3d",
    "component", "promoter", "cds", "terminator", "utr", "primersite", "restrictionsite",
    "fivepoverhang", "threepoverhang", "noverhang", "assembly", "signature", "insulator",
    "ribosite", "rnastab", "proteasesite", "proteinstab", "rpromoter", "rarrow", "larrow",
    "lpromoter",
})
