def export(items):
    rows = []
    for i in items:
        if i["price"] > 100:
            rows.append("%s\t%s\tpremium" % (i["id"], i["name"]))
        else:
            rows.append("%s\t%s\t" % (i["id"], i["name"]))
    return "\n".join(rows) + "\n", "text/tab-separated-values"
