"""XML export of one item, built with the standard library's minidom."""

from xml.dom import minidom

MEDIA_TYPE = "application/xml"


def render(item: dict) -> str:
    doc = minidom.Document()
    root = doc.createElement("item")
    root.setAttribute("id", str(item["id"]))
    doc.appendChild(root)
    for key in ("name", "category", "price", "quantity"):
        el = doc.createElement(key)
        el.appendChild(doc.createTextNode(str(item[key])))
        root.appendChild(el)
    tags = doc.createElement("tags")
    for tag in item["tags"]:
        el = doc.createElement("tag")
        el.appendChild(doc.createTextNode(tag))
        tags.appendChild(el)
    root.appendChild(tags)
    return doc.toprettyxml(indent="  ")
