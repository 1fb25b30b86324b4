def export(items):
    lines = ["id,name,price"]
    for i in items:
        lines.append("%d,%s,%.2f" % (i["id"], i["name"], i["price"]))
    return "\n".join(lines) + "\n", "text/csv"
