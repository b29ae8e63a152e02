// alert-handler: webhook media type script for Zabbix 6.0 and newer (5.x works too).
//
// Posts each Zabbix message (problem, recovery, update) as JSON to an alert-handler
// integration of type "zabbix": POST <url> with "Authorization: Bearer <token>", and, when
// hmac_secret is set (Zabbix 6.4+), "X-Signature: <hex HMAC-SHA256 of the body>".
// Set-up steps: docs/zabbix/README.md. Zabbix runs this with Duktape (ECMAScript 5.1).

var AlertHandler = {
    // A macro Zabbix could not resolve stays as its own text, e.g. "{EVENT.UPDATE.ACTION}".
    clean: function (value) {
        if (typeof value !== 'string') {
            return '';
        }
        var trimmed = value.trim();
        return /^\{[A-Z0-9_.$#]+(:[^}]*)?\}$/.test(trimmed) ? '' : trimmed;
    },

    tags: function (raw) {
        var text = AlertHandler.clean(raw);
        if (text === '') {
            return [];
        }
        try {
            var parsed = JSON.parse(text);
            return Array.isArray(parsed) ? parsed : [];
        }
        catch (error) {
            Zabbix.log(4, '[alert-handler] event_tags is not JSON, sent without tags: ' + text);
            return [];
        }
    },

    body: function (params) {
        var fields = [
            'event_id', 'event_value', 'event_update_status', 'event_update_action', 'event_update_user',
            'event_update_message', 'event_name', 'subject', 'message', 'severity', 'host', 'host_name',
            'host_ip', 'trigger_id', 'trigger_description', 'item_value', 'event_time', 'url'
        ];
        var body = {};
        for (var i = 0; i < fields.length; i++) {
            body[fields[i]] = AlertHandler.clean(params[fields[i]]);
        }
        body.event_tags = AlertHandler.tags(params.event_tags);
        return body;
    },

    send: function (params, body) {
        var request = (typeof HttpRequest !== 'undefined') ? new HttpRequest() : new CurlHttpRequest();
        var payload = JSON.stringify(body);
        request.addHeader('Content-Type: application/json');
        request.addHeader('Authorization: Bearer ' + params.token);
        if (AlertHandler.clean(params.hmac_secret) !== '') {
            if (typeof hmac !== 'function') {
                throw 'hmac_secret needs Zabbix 6.4 or newer; remove it and use the token';
            }
            request.addHeader('X-Signature: ' + hmac('sha256', params.hmac_secret, payload));
        }
        if (AlertHandler.clean(params.http_proxy) !== '') {
            request.setProxy(params.http_proxy);
        }
        var response = request.post(params.alert_handler_url, payload);
        var status = request.getStatus();
        Zabbix.log(4, '[alert-handler] answer ' + status + ': ' + response);
        if (status < 200 || status >= 300) {
            throw 'alert-handler answered ' + status + ': ' + response;
        }
        return response;
    }
};

try {
    var params = JSON.parse(value);
    if (AlertHandler.clean(params.alert_handler_url) === '') {
        throw 'the parameter alert_handler_url is empty: set it to https://<host>/api/v1/webhooks/<integration>';
    }
    if (AlertHandler.clean(params.token) === '' && AlertHandler.clean(params.hmac_secret) === '') {
        throw 'set the parameter token (or hmac_secret) to the integration\'s token';
    }
    if (AlertHandler.clean(params.event_id) === '') {
        throw 'event_id is empty: this media type sends event messages only (use {EVENT.ID})';
    }
    AlertHandler.send(params, AlertHandler.body(params));
    return 'OK';
}
catch (error) {
    Zabbix.log(3, '[alert-handler] sending failed: ' + error);
    throw 'Sending failed: ' + error;
}
