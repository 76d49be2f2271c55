-- The published room directories of application services (spec: client-server-api
-- #put_matrixclientv3directorylistappservicenetworkidroomid): a bridge lists the rooms of one of
-- its networks (`network_id`) apart from the server's own directory (`room_directory`).
-- `/publicRooms` shows them for that network's instance (`third_party_instance_id`
-- "appservice_id|network_id") or with `include_all_networks`.
CREATE TABLE appservice_room_directory (
    appservice_id TEXT NOT NULL,
    network_id TEXT NOT NULL,
    room_id TEXT NOT NULL,
    published_ts BIGINT NOT NULL,
    PRIMARY KEY (appservice_id, network_id, room_id)
);
