async def test_ingest_and_read_back(api) -> None:
    body = {"source": "s", "title": "t", "severity": "critical"}
    r = await api.client.post("/api/v1/alerts", json=body, headers=api.auth())
    assert r.status_code == 200, r.text
    created = r.json()
    assert created["outcome"] == "created"
    r = await api.client.post("/api/v1/alerts", json=body, headers=api.auth())
    assert r.json()["outcome"] == "duplicate"
    assert r.json()["id"] == created["id"]
    r = await api.client.get(f"/api/v1/alerts/{created['id']}", headers=api.auth())
    assert r.json()["duplicate_count"] == 1
